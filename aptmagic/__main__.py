from aptmagic.cli import main

main()
