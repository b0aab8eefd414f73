# Cross-region replication: every data bucket to a bucket of the same settings in the replica
# region, objects re-encrypted there with that region's customer key.

resource "aws_s3_bucket" "replica" {
  #checkov:skip=CKV_AWS_18: the replica region has no logs bucket; access to the replicas is logged by CloudTrail
  #checkov:skip=CKV_AWS_144: the replica is itself the cross-region copy
  #checkov:skip=CKV2_AWS_62: nothing consumes events of the replicas
  provider      = aws.replica
  for_each      = local.replicated
  bucket        = "${var.name}-${each.key}-replica-${local.account}"
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "replica" {
  provider = aws.replica
  for_each = aws_s3_bucket.replica
  bucket   = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "replica" {
  provider                = aws.replica
  for_each                = aws_s3_bucket.replica
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "replica" {
  provider = aws.replica
  for_each = aws_s3_bucket.replica
  bucket   = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "replica" {
  provider = aws.replica
  for_each = aws_s3_bucket.replica
  bucket   = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.replica_kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "replica" {
  provider = aws.replica
  for_each = local.replicated
  bucket   = aws_s3_bucket.replica[each.key].id

  # Expirations in the source are not replicated: the replica expires its copies itself.
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

  depends_on = [aws_s3_bucket_versioning.replica]
}

resource "aws_s3_bucket_policy" "replica" {
  provider = aws.replica
  for_each = aws_s3_bucket.replica
  bucket   = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [each.value.arn, "${each.value.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyOutdatedTls"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [each.value.arn, "${each.value.arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.replica]
}

resource "aws_iam_role" "replication" {
  count = var.replication_enabled ? 1 : 0
  name  = "${var.name}-s3-replication"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "replication" {
  count = var.replication_enabled ? 1 : 0
  name  = "replicate"
  role  = aws_iam_role.replication[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
        Resource = [for bucket in aws_s3_bucket.this : bucket.arn]
      },
      {
        Effect   = "Allow"
        Action   = ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
        Resource = [for bucket in aws_s3_bucket.this : "${bucket.arn}/*"]
      },
      {
        Effect   = "Allow"
        Action   = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
        Resource = [for bucket in aws_s3_bucket.replica : "${bucket.arn}/*"]
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Encrypt", "kms:GenerateDataKey"]
        Resource = [var.replica_kms_key_arn]
      },
    ]
  })
}

resource "aws_s3_bucket_replication_configuration" "this" {
  for_each = local.replicated
  bucket   = aws_s3_bucket.this[each.key].id
  role     = aws_iam_role.replication[0].arn

  rule {
    id     = "everything"
    status = "Enabled"
    filter {}
    delete_marker_replication {
      status = "Enabled"
    }
    source_selection_criteria {
      sse_kms_encrypted_objects {
        status = "Enabled"
      }
    }
    destination {
      bucket        = aws_s3_bucket.replica[each.key].arn
      storage_class = var.replica_storage_class
      encryption_configuration {
        replica_kms_key_id = var.replica_kms_key_arn
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this, aws_s3_bucket_versioning.replica]
}
