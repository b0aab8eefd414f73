# The account's API calls, in every region, to the logs bucket (KMS, file validation) and to
# CloudWatch Logs for searching.

resource "aws_cloudwatch_log_group" "trail" {
  count             = var.cloudtrail_enabled ? 1 : 0
  name              = "/aptmagic/${var.name}/cloudtrail"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_iam_role" "trail" {
  count = var.cloudtrail_enabled ? 1 : 0
  name  = "${var.name}-cloudtrail-logs"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "trail" {
  count = var.cloudtrail_enabled ? 1 : 0
  name  = "write-trail-logs"
  role  = aws_iam_role.trail[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = "${aws_cloudwatch_log_group.trail[0].arn}:*"
    }]
  })
}

resource "aws_cloudtrail" "this" {
  #checkov:skip=CKV_AWS_252: a notice per delivered log file would bury the alerts on the alert topic
  count                         = var.cloudtrail_enabled ? 1 : 0
  name                          = var.name
  s3_bucket_name                = var.cloudtrail_bucket_name
  s3_key_prefix                 = "cloudtrail"
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  kms_key_id                    = var.kms_key_arn
  cloud_watch_logs_group_arn    = "${aws_cloudwatch_log_group.trail[0].arn}:*"
  cloud_watch_logs_role_arn     = aws_iam_role.trail[0].arn
}
