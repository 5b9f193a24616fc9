from renkei.cli import main

main()
