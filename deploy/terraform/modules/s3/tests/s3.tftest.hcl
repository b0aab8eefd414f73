# The bucket set on mock providers: encryption, public access, TLS-only policies, lifecycle
# rules, and cross-region replication when it is on.

mock_provider "aws" {
  source = "../../mocks"
}
mock_provider "aws" {
  alias  = "replica"
  source = "../../mocks"
}

variables {
  name = "aptmagic-test"
  buckets = {
    media  = { temp_prefix = "tmp/", cors_origins = ["https://app.example.com"], cdn_read_prefix = "outputs/" }
    models = {}
  }
  kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/11111111-1111-1111-1111-111111111111"
  replica_kms_key_arn  = "arn:aws:kms:eu-central-1:123456789012:key/22222222-2222-2222-2222-222222222222"
  cdn_enabled          = true
  cdn_distribution_arn = "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE"
}

run "replicated" {
  variables {
    replication_enabled = true
  }

  assert {
    condition     = alltrue([for v in merge(aws_s3_bucket_versioning.this, aws_s3_bucket_versioning.replica) : v.versioning_configuration[0].status == "Enabled"])
    error_message = "buckets and replicas are versioned"
  }
  assert {
    condition = alltrue([
      for c in aws_s3_bucket_server_side_encryption_configuration.this :
      one(c.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
      && one(c.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == var.kms_key_arn
    ])
    error_message = "data buckets use SSE-KMS with the customer key"
  }
  assert {
    condition = alltrue([
      for c in aws_s3_bucket_server_side_encryption_configuration.replica :
      one(c.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == var.replica_kms_key_arn
    ])
    error_message = "replicas use the replica region's key"
  }
  assert {
    condition = alltrue([
      for b in merge(aws_s3_bucket_public_access_block.this, aws_s3_bucket_public_access_block.replica, { logs = aws_s3_bucket_public_access_block.logs }) :
      b.block_public_acls && b.block_public_policy && b.ignore_public_acls && b.restrict_public_buckets
    ])
    error_message = "no bucket can be made public"
  }
  assert {
    condition = alltrue([
      for p in merge(aws_s3_bucket_policy.this, aws_s3_bucket_policy.replica, { logs = aws_s3_bucket_policy.logs }) :
      anytrue([
        for s in jsondecode(p.policy).Statement :
        s.Effect == "Deny" && s.Principal == "*" && s.Action == "s3:*" && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"
      ])
    ])
    error_message = "every bucket policy refuses requests without TLS"
  }
  assert {
    condition = length([
      for s in jsondecode(aws_s3_bucket_policy.this["media"].policy).Statement : s
      if s.Effect == "Allow" && s.Principal == { Service = "cloudfront.amazonaws.com" } && s.Resource == "${aws_s3_bucket.this["media"].arn}/outputs/*"
    ]) == 1
    error_message = "CloudFront reads only the outputs of the media bucket"
  }
  assert {
    condition     = length([for s in jsondecode(aws_s3_bucket_policy.this["models"].policy).Statement : s if s.Effect == "Allow"]) == 0
    error_message = "nothing but the account reads the models bucket"
  }

  # Lifecycle: staging uploads expire after a day; earlier versions go to STANDARD_IA, then
  # GLACIER_IR, then are deleted; unfinished multipart uploads are aborted.
  assert {
    condition = length([
      for r in aws_s3_bucket_lifecycle_configuration.this["media"].rule : r
      if r.id == "expire-temporary-uploads" && r.status == "Enabled" && try(r.filter[0].prefix, "") == "tmp/" && try(r.expiration[0].days, 0) == 1
    ]) == 1
    error_message = "staging uploads (tmp/) expire after one day"
  }
  assert {
    condition = alltrue([
      for l in aws_s3_bucket_lifecycle_configuration.this : length([
        for r in l.rule : r
        if r.id == "noncurrent-versions" && r.status == "Enabled"
        && [for t in r.noncurrent_version_transition : t.storage_class] == ["STANDARD_IA", "GLACIER_IR"]
        && [for t in r.noncurrent_version_transition : t.noncurrent_days] == [30, 90]
        && try(r.noncurrent_version_expiration[0].noncurrent_days, 0) == 365
      ]) == 1
    ])
    error_message = "earlier versions go to STANDARD_IA after 30 days, GLACIER_IR after 90, and expire after 365"
  }
  assert {
    condition = alltrue([
      for l in merge(aws_s3_bucket_lifecycle_configuration.this, aws_s3_bucket_lifecycle_configuration.replica, { logs = aws_s3_bucket_lifecycle_configuration.logs }) :
      length([for r in l.rule : r if r.status == "Enabled" && try(r.abort_incomplete_multipart_upload[0].days_after_initiation, 0) == 7]) == 1
    ])
    error_message = "every bucket aborts incomplete multipart uploads after 7 days"
  }
  assert {
    condition = alltrue([
      for key, r in aws_s3_bucket_replication_configuration.this :
      r.rule[0].status == "Enabled" && r.rule[0].destination[0].bucket == aws_s3_bucket.replica[key].arn
      && r.rule[0].destination[0].encryption_configuration[0].replica_kms_key_id == var.replica_kms_key_arn
      && r.rule[0].source_selection_criteria[0].sse_kms_encrypted_objects[0].status == "Enabled"
    ]) && length(aws_s3_bucket_replication_configuration.this) == 2
    error_message = "every data bucket replicates its KMS-encrypted objects to its replica"
  }
  assert {
    condition     = one(aws_s3_bucket_cors_configuration.this["media"].cors_rule).allowed_origins == toset(["https://app.example.com"])
    error_message = "presigned browser uploads are allowed from the app's origin"
  }
}

run "not_replicated" {
  command = plan

  variables {
    replication_enabled = false
  }

  assert {
    condition     = length(aws_s3_bucket.replica) == 0 && length(aws_s3_bucket_replication_configuration.this) == 0 && length(aws_iam_role.replication) == 0
    error_message = "without replication there is no replica, rule or role"
  }
}
