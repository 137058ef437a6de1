from tlslens.cli.main import main

main()
