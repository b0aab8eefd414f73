# The roles of the app's tasks, each allowed only what its process does: the execution role pulls
# the image, writes logs and reads the injected secrets; the API and worker roles reach their own
# bucket, queues, key and topic, and the workers the named model endpoints.

data "aws_caller_identity" "current" {}

locals {
  ecs_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })

  storage_statements = concat(
    [
      {
        Sid      = "ListTheAppBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketVersioning"]
        Resource = [var.media_bucket_arn]
      },
      {
        Sid    = "ReadAndWriteTheAppObjects"
        Effect = "Allow"
        Action = [
          "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
        ]
        Resource = ["${var.media_bucket_arn}/*"]
      },
    ],
    length(var.read_only_bucket_arns) == 0 ? [] : [{
      Sid      = "ReadModelArtifacts"
      Effect   = "Allow"
      Action   = ["s3:GetObject", "s3:ListBucket"]
      Resource = concat(var.read_only_bucket_arns, [for arn in var.read_only_bucket_arns : "${arn}/*"])
    }],
  )

  common_statements = concat(
    local.storage_statements,
    [
      {
        Sid      = "UseTheEnvironmentKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arns
      },
      {
        # kombu lists queues by name prefix when it connects; ListQueues takes no resource.
        Sid      = "FindTheQueues"
        Effect   = "Allow"
        Action   = ["sqs:ListQueues"]
        Resource = ["*"]
      },
      {
        Sid      = "PublishAlerts"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = [var.alert_topic_arn]
      },
    ],
    length(var.task_secret_arns) == 0 ? [] : [{
      Sid      = "ReadReferencedSecrets"
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue"]
      Resource = var.task_secret_arns
    }],
    length(var.task_parameter_arns) == 0 ? [] : [{
      Sid      = "ReadReferencedParameters"
      Effect   = "Allow"
      Action   = ["ssm:GetParameter", "ssm:GetParameters"]
      Resource = var.task_parameter_arns
    }],
  )

  api_statements = concat(local.common_statements, [{
    Sid      = "SendJobs"
    Effect   = "Allow"
    Action   = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
    Resource = var.queue_arns
  }])

  worker_statements = concat(
    local.common_statements,
    [{
      Sid    = "ConsumeAndRedispatchJobs"
      Effect = "Allow"
      Action = [
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:SendMessage",
        "sqs:GetQueueUrl", "sqs:GetQueueAttributes",
      ]
      Resource = var.queue_arns
    }],
    length(var.sagemaker_endpoint_arns) == 0 ? [] : [{
      Sid      = "InvokeNamedSageMakerEndpoints"
      Effect   = "Allow"
      Action   = ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync", "sagemaker:InvokeEndpointWithResponseStream"]
      Resource = var.sagemaker_endpoint_arns
    }],
    length(var.bedrock_model_arns) == 0 ? [] : [{
      Sid      = "InvokeNamedBedrockModels"
      Effect   = "Allow"
      Action   = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
      Resource = var.bedrock_model_arns
    }],
  )
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-task-execution"
  assume_role_policy = local.ecs_trust
}

resource "aws_iam_role_policy" "execution" {
  name = "pull-log-and-inject-secrets"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # GetAuthorizationToken takes no resource.
        Sid      = "SignInToEcr"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = ["*"]
      },
      {
        Sid      = "PullTheImage"
        Effect   = "Allow"
        Action   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
        Resource = var.ecr_repository_arns
      },
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = [for arn in var.log_group_arns : "${arn}:*"]
      },
      {
        Sid      = "InjectSecrets"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = var.execution_secret_arns
      },
      {
        Sid      = "DecryptSecretsAndImages"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.kms_key_arns
      },
    ]
  })
}

resource "aws_iam_role" "api" {
  name               = "${var.name}-api"
  assume_role_policy = local.ecs_trust
}

resource "aws_iam_role_policy" "api" {
  name   = "api"
  role   = aws_iam_role.api.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.api_statements })
}

resource "aws_iam_role" "worker" {
  name               = "${var.name}-worker"
  assume_role_policy = local.ecs_trust
}

resource "aws_iam_role_policy" "worker" {
  name   = "worker"
  role   = aws_iam_role.worker.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.worker_statements })
}
