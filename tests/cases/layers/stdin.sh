bnorm layers - --format csv < samples/model.safetensors
