#!/bin/sh
# Runs the command it is given (aptmagic api, aptmagic worker, aptmagic migrate). SageMaker starts
# a model container with the single argument "serve": that becomes `aptmagic serve-model` for the
# registry model named by MODEL_ID, listening on 0.0.0.0:8080 (see deploy/terraform/modules/sagemaker).
set -e
if [ "$#" -eq 1 ] && [ "$1" = "serve" ]; then
    exec aptmagic serve-model serve --model "${MODEL_ID:?MODEL_ID names the registry model to serve}"
fi
exec "$@"
