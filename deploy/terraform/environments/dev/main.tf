# One environment of aptmagic on AWS. The three environment folders hold the same .tf files;
# only terraform.tfvars and backend.hcl differ (tests/deploy checks that).

locals {
  name         = "aptmagic-${var.environment}"
  queue_prefix = "${local.name}-"
  tags         = { Project = "aptmagic", Environment = var.environment, ManagedBy = "terraform" }

  # The app's settings that are not secret; the secrets follow as references (module.ecs app_secrets).
  app_environment = merge(
    {
      APTMAGIC_ENVIRONMENT                       = "production"
      APTMAGIC_DATA_DIR                          = "/home/aptmagic/data"
      HF_HOME                                    = "/home/aptmagic/data/hf"
      APTMAGIC_AUTO_MIGRATE                      = "false"
      APTMAGIC_STORAGE_BACKEND                   = "s3"
      APTMAGIC_S3_BUCKET                         = module.s3.bucket_names["media"]
      APTMAGIC_S3_REGION                         = var.region
      APTMAGIC_S3_SSE                            = "aws:kms"
      APTMAGIC_S3_SSE_KMS_KEY_ID                 = module.kms.key_arn
      APTMAGIC_S3_CONFIGURE_BUCKET               = "false"
      APTMAGIC_QUEUE_BACKEND                     = "celery"
      APTMAGIC_BROKER_URL                        = "sqs://"
      APTMAGIC_SQS_REGION                        = var.region
      APTMAGIC_QUEUE_NAME_PREFIX                 = local.queue_prefix
      APTMAGIC_BROKER_VISIBILITY_TIMEOUT_SECONDS = tostring(var.queue_visibility_timeout_seconds)
      APTMAGIC_ALERT_SNS_TOPIC_ARN               = module.observability.alert_topic_arn
      APTMAGIC_ALERT_SNS_REGION                  = var.region
      APTMAGIC_ALERT_DAILY_REQUESTS              = tostring(var.request_alarm_threshold)
      APTMAGIC_ALERT_QUEUE_DEPTH                 = tostring(var.queue_depth_alarm_threshold)
      APTMAGIC_TRUST_FORWARDED_HEADERS           = "true"
      APTMAGIC_COOKIE_SECURE                     = "true"
      APTMAGIC_CORS_ORIGINS                      = "https://${var.domain_name}"
    },
    var.extra_app_environment,
  )

  app_secrets = merge(module.secrets.app_secrets, {
    APTMAGIC_DATABASE_URL = module.rds.database_url_secret_arn
    APTMAGIC_REDIS_URL    = module.elasticache.redis_url_secret_arn
  })
}

module "kms" {
  source             = "../../modules/kms"
  name               = local.name
  description        = "aptmagic ${var.environment}: data, queues, logs, secrets"
  service_principals = ["logs", "cloudtrail", "cloudwatch", "cloudfront"]
}

module "kms_replica" {
  source      = "../../modules/kms"
  count       = var.s3_replication_enabled ? 1 : 0
  providers   = { aws = aws.replica }
  name        = "${local.name}-replica"
  description = "aptmagic ${var.environment}: bucket replicas"
}

module "networking" {
  source              = "../../modules/networking"
  name                = local.name
  cidr_block          = var.vpc_cidr
  availability_zones  = var.availability_zones
  nat_gateway_per_az  = var.nat_gateway_per_az
  interface_endpoints = var.interface_endpoints
  kms_key_arn         = module.kms.key_arn
  alb_ingress         = "cloudfront"
}

module "s3" {
  source    = "../../modules/s3"
  providers = { aws = aws, aws.replica = aws.replica }
  name      = local.name
  buckets = {
    media  = { temp_prefix = "tmp/", cors_origins = ["https://${var.domain_name}"], cdn_read_prefix = "outputs/" }
    models = {}
  }
  kms_key_arn          = module.kms.key_arn
  replication_enabled  = var.s3_replication_enabled
  replica_kms_key_arn  = one(module.kms_replica[*].key_arn)
  log_retention_days   = var.log_retention_days
  force_destroy        = var.force_destroy_buckets
  cdn_enabled          = true
  cdn_distribution_arn = module.cloudfront.distribution_arn
}

module "queue" {
  source                     = "../../modules/queue"
  name_prefix                = local.queue_prefix
  visibility_timeout_seconds = var.queue_visibility_timeout_seconds
  max_receive_count          = var.queue_max_receive_count
  kms_key_arn                = module.kms.key_arn
}

module "secrets" {
  source                  = "../../modules/secrets"
  name                    = local.name
  kms_key_arn             = module.kms.key_arn
  operator_secrets        = var.operator_secrets
  recovery_window_in_days = var.secret_recovery_window_days
}

module "rds" {
  source                  = "../../modules/rds"
  name                    = local.name
  subnet_ids              = module.networking.private_subnet_ids
  security_group_id       = module.networking.security_group_ids["db"]
  kms_key_arn             = module.kms.key_arn
  min_capacity            = var.db.min_capacity
  max_capacity            = var.db.max_capacity
  instance_count          = var.db.instance_count
  backup_retention_days   = var.db.backup_retention_days
  deletion_protection     = var.deletion_protection
  final_snapshot          = var.keep_final_snapshot
  recovery_window_in_days = var.secret_recovery_window_days
}

module "elasticache" {
  source                  = "../../modules/elasticache"
  name                    = local.name
  subnet_ids              = module.networking.private_subnet_ids
  security_group_id       = module.networking.security_group_ids["redis"]
  kms_key_arn             = module.kms.key_arn
  node_type               = var.redis.node_type
  multi_az                = var.redis.multi_az
  snapshot_retention_days = var.redis.snapshot_retention_days
  recovery_window_in_days = var.secret_recovery_window_days
}

module "observability" {
  source                   = "../../modules/observability"
  name                     = local.name
  kms_key_arn              = module.kms.key_arn
  log_retention_days       = var.log_retention_days
  alarm_email              = var.alarm_email
  load_balancer_arn_suffix = module.ecs.load_balancer_arn_suffix
  request_alarm_threshold  = var.request_alarm_threshold
  queue_names              = module.queue.queue_names
  dead_letter_queue_names  = module.queue.dead_letter_queue_names
  queue_depth_threshold    = var.queue_depth_alarm_threshold
  cloudtrail_bucket_name   = module.s3.logs_bucket_name
}

module "iam" {
  source                  = "../../modules/iam"
  name                    = local.name
  media_bucket_arn        = module.s3.bucket_arns["media"]
  read_only_bucket_arns   = [module.s3.bucket_arns["models"]]
  kms_key_arns            = [module.kms.key_arn]
  queue_arns              = values(module.queue.queue_arns)
  alert_topic_arn         = module.observability.alert_topic_arn
  execution_secret_arns   = values(local.app_secrets)
  log_group_arns          = values(module.observability.log_group_arns)
  ecr_repository_arns     = [module.ecs.repository_arn]
  sagemaker_endpoint_arns = module.sagemaker[*].endpoint_arn
  bedrock_model_arns      = var.bedrock_model_arns
}

module "ecs" {
  source                  = "../../modules/ecs"
  name                    = local.name
  vpc_id                  = module.networking.vpc_id
  public_subnet_ids       = module.networking.public_subnet_ids
  private_subnet_ids      = module.networking.private_subnet_ids
  security_group_ids      = module.networking.security_group_ids
  kms_key_arn             = module.kms.key_arn
  image_tag               = var.image_tag
  force_destroy           = var.force_destroy_buckets
  certificate_arn         = var.alb_certificate_arn
  logs_bucket_name        = module.s3.logs_bucket_name
  alb_deletion_protection = var.deletion_protection
  origin_verify_enabled   = true
  origin_verify_header    = module.secrets.origin_verify_header
  log_group_names         = module.observability.log_group_names
  execution_role_arn      = module.iam.execution_role_arn
  api_role_arn            = module.iam.api_role_arn
  worker_role_arn         = module.iam.worker_role_arn
  app_environment         = local.app_environment
  app_secrets             = local.app_secrets
  queue_names             = module.queue.queue_names
  api                     = var.api
  cpu_workers             = var.cpu_workers
  gpu_workers             = var.gpu_workers
  idle_minutes            = var.worker_idle_minutes
}

module "cloudfront" {
  source                              = "../../modules/cloudfront"
  providers                           = { aws = aws, aws.us_east_1 = aws.us_east_1 }
  name                                = local.name
  domain_name                         = var.domain_name
  certificate_arn                     = var.cloudfront_certificate_arn
  load_balancer_dns_name              = module.ecs.load_balancer_dns_name
  load_balancer_zone_id               = module.ecs.load_balancer_zone_id
  outputs_bucket_regional_domain_name = module.s3.bucket_regional_domain_names["media"]
  origin_verify_header                = module.secrets.origin_verify_header
  logs_bucket_domain_name             = module.s3.logs_bucket_domain_name
  price_class                         = var.cloudfront_price_class
  rate_limit_per_5_minutes            = var.waf_rate_limit_per_5_minutes
  route53_zone_id                     = var.route53_zone_id
  latency_routing                     = var.latency_routing
}

module "sagemaker" {
  source             = "../../modules/sagemaker"
  count              = var.sagemaker.enabled ? 1 : 0
  name               = "${local.name}-${var.sagemaker.model_id}"
  image              = "${module.ecs.repository_url}:${var.image_tag}-cuda"
  model_id           = var.sagemaker.model_id
  models_bucket_arn  = module.s3.bucket_arns["models"]
  ecr_repository_arn = module.ecs.repository_arn
  kms_key_arn        = module.kms.key_arn
  subnet_ids         = module.networking.private_subnet_ids
  security_group_id  = module.networking.security_group_ids["sagemaker"]
  instance_type      = var.sagemaker.instance_type
  min_instances      = var.sagemaker.min_instances
  max_instances      = var.sagemaker.max_instances
  environment        = { APTMAGIC_ENVIRONMENT = "production" }
}
