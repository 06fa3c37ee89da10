printf '\n\n' > list.txt
bnorm stats --files-from list.txt
