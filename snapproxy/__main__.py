from snapproxy.cli import main

main()
