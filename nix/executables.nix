# The executable of a tool given as a nixpkgs derivation or as an absolute path string
# (how the functions here are used on a host with Nix but no nixpkgs).
{
  # `bin` under a derivation's bin/, or the string itself.
  executable = tool: bin: if builtins.isString tool then tool else "${tool}/bin/${bin}";

  # nixpkgs' Python knows its interpreter path; a plain derivation is asked for python3.
  python = python:
    if builtins.isString python then python
    else if python ? interpreter then python.interpreter
    else "${python}/bin/python3";
}
