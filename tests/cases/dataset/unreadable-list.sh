bnorm stats --files-from missing.txt
