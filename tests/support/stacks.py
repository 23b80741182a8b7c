"""The stack file that the engine scenarios and the real-CLI suite both start from."""

SCENARIO_STACK = """\
projects:
  research: {name: Research}
  other: {name: Other}
experiments:
  train:
    project: research
    image: pytorch/pytorch:2.3.0
    command: python train.py
    machineType: A4000
    env: {EMULATOR_RUN_SECONDS: "1"}
    model: {name: resnet50}
deployments:
  api:
    project: research
    image: paperspace/fastapi-deployment:latest
    machineType: C4
    ports: [8000]
    replicas: 2
    model: train
    env: {MODE: prod, HF_TOKEN: {secret: hfToken}}
"""
