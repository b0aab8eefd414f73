# The Celery broker on SQS: one queue per app queue (cpu, gpu), each with a dead-letter queue.
# A message carries a job id only; the job row stays the source of truth. Every queue refuses
# requests without TLS; its policy names its own ARN, which is known from its name.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  arn_prefix = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  tls_only = {
    for name in concat([for q in var.queues : "${var.name_prefix}${q}"], [for q in var.queues : "${var.name_prefix}${q}-dlq"]) :
    name => jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = "${local.arn_prefix}:${name}"
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }]
    })
  }
}

resource "aws_sqs_queue" "dead_letter" {
  for_each                          = toset(var.queues)
  name                              = "${var.name_prefix}${each.key}-dlq"
  policy                            = local.tls_only["${var.name_prefix}${each.key}-dlq"]
  message_retention_seconds         = var.dead_letter_retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue" "this" {
  for_each                          = toset(var.queues)
  name                              = "${var.name_prefix}${each.key}"
  policy                            = local.tls_only["${var.name_prefix}${each.key}"]
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  message_retention_seconds         = var.message_retention_seconds
  receive_wait_time_seconds         = 1
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  for_each  = var.restrict_dead_letter_sources ? aws_sqs_queue.dead_letter : {}
  queue_url = each.value.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[each.key].arn]
  })
}
