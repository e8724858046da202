from fcnn_cli.cli import main

main()
