# The data buckets of the app (versioned, SSE-KMS with the customer key, private, TLS only,
# lifecycle to cheaper storage), their replicas in a second region, and the logs bucket.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account     = data.aws_caller_identity.current.account_id
  replicated  = var.replication_enabled ? var.buckets : {}
  cdn_buckets = { for key, bucket in var.buckets : key => bucket if var.cdn_enabled && bucket.cdn_read_prefix != null }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV2_AWS_62: uploads reach the app through its complete step, not through bucket events
  #checkov:skip=CKV_AWS_144: replication is a per-environment choice (replication_enabled), on in prod
  for_each      = var.buckets
  bucket        = "${var.name}-${each.key}-${local.account}"
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = aws_s3_bucket.this
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each      = aws_s3_bucket.this
  bucket        = each.value.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${each.value.id}/"
  depends_on    = [aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_cors_configuration" "this" {
  for_each = { for key, bucket in var.buckets : key => bucket if length(bucket.cors_origins) > 0 }
  bucket   = aws_s3_bucket.this[each.key].id
  cors_rule {
    allowed_methods = ["GET", "HEAD", "PUT"]
    allowed_origins = each.value.cors_origins
    allowed_headers = ["*"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3600
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = var.buckets
  bucket   = aws_s3_bucket.this[each.key].id

  rule {
    id     = "expire-temporary-uploads"
    status = "Enabled"
    filter {
      prefix = each.value.temp_prefix
    }
    expiration {
      days = var.temp_expire_days
    }
  }

  rule {
    id     = "noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_transition {
      noncurrent_days = var.noncurrent_ia_days
      storage_class   = "STANDARD_IA"
    }
    noncurrent_version_transition {
      noncurrent_days = var.noncurrent_glacier_ir_days
      storage_class   = "GLACIER_IR"
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_expire_days
    }
  }

  rule {
    id     = "abort-incomplete-multipart"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_multipart_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      local.tls_only[each.key],
      contains(keys(local.cdn_buckets), each.key) ? [{
        Sid       = "CloudFrontReadsThroughOriginAccessControl"
        Effect    = "Allow"
        Principal = { Service = "cloudfront.amazonaws.com" }
        Action    = "s3:GetObject"
        Resource  = "${each.value.arn}/${var.buckets[each.key].cdn_read_prefix}*"
        Condition = { StringEquals = { "AWS:SourceArn" = var.cdn_distribution_arn } }
      }] : [],
    )
  })
  depends_on = [aws_s3_bucket_public_access_block.this]
}

locals {
  tls_only = {
    for key, bucket in aws_s3_bucket.this : key => [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [bucket.arn, "${bucket.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyOutdatedTls"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [bucket.arn, "${bucket.arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
    ]
  }
}
