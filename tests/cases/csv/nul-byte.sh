# A NUL byte is no text.
printf 'a,b\n1,2\0003\n' > t.csv
bnorm stats t.csv
