# SPDX-License-Identifier: Apache-2.0
printf 'hello, world' | bnorm stats -
