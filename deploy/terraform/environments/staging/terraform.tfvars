# staging: prod's shape at a smaller size; one NAT gateway, no replica region.
environment        = "staging"
region             = "eu-west-1"
replica_region     = "eu-central-1"
availability_zones = ["eu-west-1a", "eu-west-1b"]
vpc_cidr           = "10.20.0.0/16"
nat_gateway_per_az = false

# Replace with your domain, its certificates (ACM, DNS-validated) and the alert address.
domain_name                = "staging.aptmagic.example.com"
alb_certificate_arn        = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
cloudfront_certificate_arn = "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
alarm_email                = "ops@example.com"

image_tag          = "latest"
log_retention_days = 90

api = {
  cpu       = 1024
  memory    = 2048
  processes = 2
  min_count = 1
  max_count = 3
}

cpu_workers = {
  cpu         = 2048
  memory      = 8192
  concurrency = 2
  min_count   = 1
  max_count   = 3
  spot_weight = 1
}

gpu_workers = {
  instance_types    = ["g5.xlarge", "g6.xlarge"]
  cpu               = 3584
  memory            = 14336
  min_count         = 0
  max_count         = 2
  on_demand_percent = 0
}

worker_idle_minutes = 20

db = {
  min_capacity          = 0.5
  max_capacity          = 4
  instance_count        = 1
  backup_retention_days = 14
}

redis = {
  node_type               = "cache.t4g.small"
  multi_az                = false
  snapshot_retention_days = 3
}

keep_final_snapshot         = true
force_destroy_buckets       = false
deletion_protection         = true
s3_replication_enabled      = false
secret_recovery_window_days = 7
