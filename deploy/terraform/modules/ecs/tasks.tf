# Task definitions: the API, the CPU and GPU workers, and the one-off migration. Every container
# gets the app's settings as plain environment values and its secrets as references that ECS
# resolves at start (the execution role reads them); no secret value is in a task definition.
# The root filesystem is read-only; the data folder and /tmp are volumes.

locals {
  data_dir = "/home/aptmagic/data"

  secrets = [for setting in sort(keys(var.app_secrets)) : { name = setting, valueFrom = var.app_secrets[setting] }]

  mounts = [
    { sourceVolume = "data", containerPath = local.data_dir, readOnly = false },
    { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
  ]

  containers = {
    api = {
      image   = local.image
      command = ["aptmagic", "api", "--host", "0.0.0.0", "--port", "8000", "--workers", tostring(var.api.processes)]
      env     = {}
      stop    = 30
      extra = {
        portMappings = [{ containerPort = 8000, protocol = "tcp" }]
        healthCheck = {
          command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
          interval    = 15
          timeout     = 5
          retries     = 3
          startPeriod = 60
        }
      }
    }
    worker-cpu = {
      image   = local.image
      command = ["aptmagic", "worker", "--queues", "cpu", "--concurrency", tostring(var.cpu_workers.concurrency)]
      env     = { APTMAGIC_SHUTDOWN_TIMEOUT = "100" }
      stop    = 120
      extra   = {}
    }
    worker-gpu = {
      image   = local.image_gpu
      command = ["aptmagic", "worker", "--queues", "gpu", "--concurrency", tostring(var.gpu_workers.concurrency)]
      env     = { APTMAGIC_SHUTDOWN_TIMEOUT = "100" }
      stop    = 120
      extra = {
        resourceRequirements = [{ type = "GPU", value = "1" }]
        memory               = var.gpu_workers.memory
      }
    }
    migrate = {
      image   = local.image
      command = ["aptmagic", "migrate"]
      env     = {}
      stop    = 30
      extra   = {}
    }
  }

  container_definitions = {
    for name, c in local.containers : name => merge(
      {
        name                   = name
        image                  = c.image
        essential              = true
        command                = c.command
        environment            = [for key in sort(keys(merge(var.app_environment, c.env))) : { name = key, value = merge(var.app_environment, c.env)[key] }]
        secrets                = local.secrets
        readonlyRootFilesystem = true
        mountPoints            = local.mounts
        stopTimeout            = c.stop
        linuxParameters        = { initProcessEnabled = true }
        logConfiguration = {
          logDriver = "awslogs"
          options = {
            awslogs-group         = var.log_group_names[name]
            awslogs-region        = local.region
            awslogs-stream-prefix = name
          }
        }
      },
      c.extra,
    )
  }
}

resource "aws_ecs_task_definition" "api" {
  family                   = "${var.name}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.api.cpu
  memory                   = var.api.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.api_role_arn
  container_definitions    = jsonencode([local.container_definitions["api"]])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  ephemeral_storage {
    size_in_gib = var.api.ephemeral_storage_gb
  }
  volume {
    name = "data"
  }
  volume {
    name = "tmp"
  }
}

resource "aws_ecs_task_definition" "worker_cpu" {
  family                   = "${var.name}-worker-cpu"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu_workers.cpu
  memory                   = var.cpu_workers.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.worker_role_arn
  container_definitions    = jsonencode([local.container_definitions["worker-cpu"]])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  ephemeral_storage {
    size_in_gib = var.cpu_workers.ephemeral_storage_gb
  }
  volume {
    name = "data"
  }
  volume {
    name = "tmp"
  }
}

resource "aws_ecs_task_definition" "worker_gpu" {
  family                   = "${var.name}-worker-gpu"
  requires_compatibilities = ["EC2"]
  network_mode             = "awsvpc"
  cpu                      = var.gpu_workers.cpu
  memory                   = var.gpu_workers.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.worker_role_arn
  container_definitions    = jsonencode([local.container_definitions["worker-gpu"]])

  # The model cache outlives a task on its instance: a shared Docker volume.
  volume {
    name = "data"
    docker_volume_configuration {
      scope         = "shared"
      autoprovision = true
      driver        = "local"
    }
  }
  volume {
    name = "tmp"
    docker_volume_configuration {
      scope  = "task"
      driver = "local"
    }
  }
}

resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = var.execution_role_arn
  container_definitions    = jsonencode([local.container_definitions["migrate"]])

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  volume {
    name = "data"
  }
  volume {
    name = "tmp"
  }
}
