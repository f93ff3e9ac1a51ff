from stack.processes import main

main()
