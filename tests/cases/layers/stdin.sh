# SPDX-License-Identifier: Apache-2.0
bnorm layers - --format csv < samples/model.safetensors
