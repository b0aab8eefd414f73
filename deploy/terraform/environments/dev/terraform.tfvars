# dev: one NAT gateway, no replica region, small database, GPU workers only while jobs wait.
environment        = "dev"
region             = "eu-west-1"
replica_region     = "eu-central-1"
availability_zones = ["eu-west-1a", "eu-west-1b"]
vpc_cidr           = "10.10.0.0/16"
nat_gateway_per_az = false

# Replace with your domain, its certificates (ACM, DNS-validated) and the alert address.
domain_name                = "dev.aptmagic.example.com"
alb_certificate_arn        = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
cloudfront_certificate_arn = "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
alarm_email                = "ops@example.com"

image_tag          = "latest"
log_retention_days = 30

api = {
  cpu       = 512
  memory    = 1024
  processes = 1
  min_count = 1
  max_count = 2
}

cpu_workers = {
  cpu         = 2048
  memory      = 8192
  concurrency = 1
  min_count   = 0
  max_count   = 2
  spot_weight = 1
}

gpu_workers = {
  instance_types    = ["g5.xlarge", "g6.xlarge"]
  cpu               = 3584
  memory            = 14336
  min_count         = 0
  max_count         = 1
  on_demand_percent = 0
}

worker_idle_minutes = 15

db = {
  min_capacity          = 0
  max_capacity          = 2
  instance_count        = 1
  backup_retention_days = 7
}

redis = {
  node_type               = "cache.t4g.micro"
  multi_az                = false
  snapshot_retention_days = 1
}

keep_final_snapshot         = false
force_destroy_buckets       = true
deletion_protection         = false
s3_replication_enabled      = false
secret_recovery_window_days = 0
