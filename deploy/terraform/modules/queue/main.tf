# The Celery broker on SQS: one queue per app queue (cpu, gpu), each with a dead-letter queue.
# A message carries a job id only; the job row stays the source of truth.

resource "aws_sqs_queue" "dead_letter" {
  for_each                          = toset(var.queues)
  name                              = "${var.name_prefix}${each.key}-dlq"
  message_retention_seconds         = var.dead_letter_retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue" "this" {
  for_each                          = toset(var.queues)
  name                              = "${var.name_prefix}${each.key}"
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
  for_each  = aws_sqs_queue.dead_letter
  queue_url = each.value.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this[each.key].arn]
  })
}

resource "aws_sqs_queue_policy" "this" {
  for_each  = merge(aws_sqs_queue.this, { for key, queue in aws_sqs_queue.dead_letter : "${key}-dlq" => queue })
  queue_url = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sqs:*"
      Resource  = each.value.arn
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
