# prod: three zones with a NAT gateway each, replicas in a second region, a reader that takes
# over on failure, 35 days of point-in-time restore, a GPU worker always warm.
environment        = "prod"
region             = "eu-west-1"
replica_region     = "eu-central-1"
availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
vpc_cidr           = "10.30.0.0/16"
nat_gateway_per_az = true

# Replace with your domain, its certificates (ACM, DNS-validated) and the alert address.
domain_name                = "aptmagic.example.com"
alb_certificate_arn        = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
cloudfront_certificate_arn = "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
alarm_email                = "ops@example.com"

image_tag          = "latest"
log_retention_days = 365

api = {
  cpu       = 2048
  memory    = 4096
  processes = 4
  min_count = 2
  max_count = 10
}

cpu_workers = {
  cpu         = 4096
  memory      = 16384
  concurrency = 2
  min_count   = 2
  max_count   = 10
}

gpu_workers = {
  instance_types    = ["g5.xlarge", "g6.xlarge", "g5.2xlarge"]
  cpu               = 3584
  memory            = 14336
  min_count         = 1
  max_count         = 8
  on_demand_base    = 1
  on_demand_percent = 50
}

worker_idle_minutes = 30

db = {
  min_capacity          = 1
  max_capacity          = 16
  instance_count        = 2
  backup_retention_days = 35
}

redis = {
  node_type               = "cache.r7g.large"
  multi_az                = true
  snapshot_retention_days = 7
}

keep_final_snapshot         = true
force_destroy_buckets       = false
deletion_protection         = true
s3_replication_enabled      = true
secret_recovery_window_days = 30
