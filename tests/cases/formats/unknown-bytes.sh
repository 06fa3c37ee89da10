# Neither the name nor the first bytes tell a format.
printf 'hello, world' > notes.txt
bnorm stats notes.txt
