# Every security group of the environment, and every rule they hold. Only the load balancer
# admits traffic from outside: from CloudFront's origin-facing addresses on 443, or (alb_ingress
# "internet", without CloudFront) from anywhere on 443 and on 80 to redirect it. Each other tier
# admits only the tier in front of it.

locals {
  groups = {
    alb       = "The public load balancer"
    api       = "API tasks"
    worker    = "Worker tasks and the GPU container instances"
    db        = "Aurora PostgreSQL"
    redis     = "ElastiCache Redis"
    endpoints = "Interface VPC endpoints"
    sagemaker = "SageMaker endpoint"
  }

  alb_rules = {
    alb_https_world      = { mode = "internet", group = "alb", port = 443, cidr = "0.0.0.0/0", description = "HTTPS from the internet" }
    alb_http_world       = { mode = "internet", group = "alb", port = 80, cidr = "0.0.0.0/0", description = "HTTP from the internet, redirected to HTTPS" }
    alb_https_cloudfront = { mode = "cloudfront", group = "alb", port = 443, prefix_list = "cloudfront", description = "HTTPS from CloudFront's origin-facing addresses" }
  }

  ingress_rules = merge({ for key, rule in local.alb_rules : key => rule if rule.mode == var.alb_ingress }, {
    api_from_alb    = { group = "api", port = var.app_port, source = "alb", description = "The load balancer to the API" }
    db_from_api     = { group = "db", port = 5432, source = "api", description = "PostgreSQL from the API" }
    db_from_worker  = { group = "db", port = 5432, source = "worker", description = "PostgreSQL from the workers" }
    redis_from_api  = { group = "redis", port = 6379, source = "api", description = "Redis from the API" }
    redis_worker    = { group = "redis", port = 6379, source = "worker", description = "Redis from the workers" }
    endpoints_https = { group = "endpoints", port = 443, cidr = var.cidr_block, description = "HTTPS to the VPC endpoints from inside the VPC" }
    sagemaker_https = { group = "sagemaker", port = 443, cidr = var.cidr_block, description = "HTTPS from inside the VPC" }
  })

  egress_rules = {
    alb_to_api      = { group = "alb", port = var.app_port, target = "api", description = "To the API tasks" }
    api_https       = { group = "api", port = 443, cidr = "0.0.0.0/0", description = "AWS APIs and model hubs over HTTPS" }
    api_db          = { group = "api", port = 5432, target = "db", description = "To PostgreSQL" }
    api_redis       = { group = "api", port = 6379, target = "redis", description = "To Redis" }
    worker_https    = { group = "worker", port = 443, cidr = "0.0.0.0/0", description = "AWS APIs and model hubs over HTTPS" }
    worker_db       = { group = "worker", port = 5432, target = "db", description = "To PostgreSQL" }
    worker_redis    = { group = "worker", port = 6379, target = "redis", description = "To Redis" }
    sagemaker_https = { group = "sagemaker", port = 443, cidr = "0.0.0.0/0", description = "AWS APIs over HTTPS" }
  }
}

locals {
  # Every rule with every field, unused ones null, so that the rules form one map.
  ingress = {
    for key, rule in local.ingress_rules : key => {
      group  = rule.group, port = rule.port, description = rule.description, cidr = try(rule.cidr, null),
      source = try(rule.source, null), prefix_list = try(rule.prefix_list, null)
    }
  }
  egress = {
    for key, rule in local.egress_rules : key => {
      group  = rule.group, port = rule.port, description = rule.description, cidr = try(rule.cidr, null),
      target = try(rule.target, null)
    }
  }
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5: the groups are attached in the ecs, rds, elasticache and sagemaker modules (security_group_ids output)
  for_each    = local.groups
  name        = "${var.name}-${each.key}"
  description = each.value
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${var.name}-${each.key}" }
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each                     = local.ingress
  security_group_id            = aws_security_group.this[each.value.group].id
  description                  = each.value.description
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  cidr_ipv4                    = each.value.cidr
  prefix_list_id               = each.value.prefix_list == null ? null : data.aws_ec2_managed_prefix_list.cloudfront[0].id
  referenced_security_group_id = each.value.source == null ? null : aws_security_group.this[each.value.source].id
}

data "aws_ec2_managed_prefix_list" "cloudfront" {
  count = var.alb_ingress == "cloudfront" ? 1 : 0
  name  = "com.amazonaws.global.cloudfront.origin-facing"
}

resource "aws_vpc_security_group_egress_rule" "this" {
  for_each                     = local.egress
  security_group_id            = aws_security_group.this[each.value.group].id
  description                  = each.value.description
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  cidr_ipv4                    = each.value.cidr
  referenced_security_group_id = each.value.target == null ? null : aws_security_group.this[each.value.target].id
}
