output "vpc_id" {
  description = "Id of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "Address range of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnets, one per zone (load balancer, NAT gateways)."
  value       = [for az in var.availability_zones : aws_subnet.public[az].id]
}

output "private_subnet_ids" {
  description = "Private subnets, one per zone (tasks, database, cache, endpoints)."
  value       = [for az in var.availability_zones : aws_subnet.private[az].id]
}

output "security_group_ids" {
  description = "Security group ids by tier: alb, api, worker, db, redis, endpoints, sagemaker."
  value       = { for key, group in aws_security_group.this : key => group.id }
}

output "nat_gateway_count" {
  description = "NAT gateways in the VPC."
  value       = length(aws_nat_gateway.this)
}

output "interface_endpoint_services" {
  description = "Services with an interface endpoint in the VPC."
  value       = sort([for endpoint in aws_vpc_endpoint.interface : endpoint.service_name])
}

output "world_ingress" {
  description = "Ingress rules open to any address (0.0.0.0/0 or ::/0), as group:port."
  value = sort([
    for key, rule in aws_vpc_security_group_ingress_rule.this :
    "${local.ingress[key].group}:${rule.from_port}-${rule.to_port}"
    if rule.cidr_ipv4 == "0.0.0.0/0" || rule.cidr_ipv6 == "::/0"
  ])
}

output "ingress_rules" {
  description = "Every ingress rule of the environment: group, port, and its source (cidr, prefix list or security group)."
  value = {
    for key, rule in aws_vpc_security_group_ingress_rule.this : key => {
      group       = local.ingress[key].group
      from_port   = rule.from_port
      to_port     = rule.to_port
      cidr_ipv4   = rule.cidr_ipv4
      cidr_ipv6   = rule.cidr_ipv6
      prefix_list = local.ingress[key].prefix_list
      source      = local.ingress[key].source
    }
  }
}
