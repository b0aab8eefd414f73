# The app's own secrets. The signing key is generated here and never leaves Secrets Manager except
# into the task (ECS reads it at start through the execution role). Terraform keeps the first
# generated value: the random password source is read on every plan, its later values are ignored.

data "aws_secretsmanager_random_password" "secret_key" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "secret_key" {
  #checkov:skip=CKV2_AWS_57: rotating the signing key would sign every user out; rotate by hand (docs/operations/aws.md)
  name                    = "${var.name}/secret-key"
  description             = "APTMAGIC_SECRET_KEY: the app's signing key."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
}

resource "aws_secretsmanager_secret_version" "secret_key" {
  secret_id     = aws_secretsmanager_secret.secret_key.id
  secret_string = data.aws_secretsmanager_random_password.secret_key.random_password

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret" "operator" {
  #checkov:skip=CKV2_AWS_57: values come from their issuers (SMTP, payment providers), who rotate them
  for_each                = var.operator_secrets
  name                    = "${var.name}/${each.value}"
  description             = "${each.key}, set by the operator."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
}

# The value CloudFront sends to the load balancer in X-Origin-Verify; requests without it are
# refused there, so the WAF in front of CloudFront cannot be bypassed.
data "aws_secretsmanager_random_password" "origin_verify" {
  password_length     = 48
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "origin_verify" {
  #checkov:skip=CKV2_AWS_57: rotated by changing it in CloudFront and the load balancer together (docs/operations/aws.md)
  name                    = "${var.name}/origin-verify"
  description             = "Header value that marks requests coming through CloudFront."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
}

resource "aws_secretsmanager_secret_version" "origin_verify" {
  secret_id     = aws_secretsmanager_secret.origin_verify.id
  secret_string = data.aws_secretsmanager_random_password.origin_verify.random_password

  lifecycle {
    ignore_changes = [secret_string]
  }
}
