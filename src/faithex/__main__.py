from faithex.cli.main import main

main()
