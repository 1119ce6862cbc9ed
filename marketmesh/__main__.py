from marketmesh.cli import main

main()
