from chaos.cli.main import main

main()
