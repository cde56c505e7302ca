from yaosu.cli import main

main()
