bnorm stats nothing.json
