from mlpctl.cli import main

main()
