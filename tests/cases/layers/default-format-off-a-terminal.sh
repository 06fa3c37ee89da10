bnorm layers samples/model.safetensors
