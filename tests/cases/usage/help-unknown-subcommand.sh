bnorm help aply
