# Security group rules on mock providers: which ingress is open to the world in each mode.

mock_provider "aws" {
  source = "../../mocks"
}

variables {
  name               = "aptmagic-test"
  cidr_block         = "10.0.0.0/16"
  availability_zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/11111111-1111-1111-1111-111111111111"
}

run "behind_cloudfront" {
  command = plan

  variables {
    alb_ingress = "cloudfront"
  }

  assert {
    condition     = length(output.world_ingress) == 0
    error_message = "behind CloudFront nothing is open to 0.0.0.0/0"
  }
  assert {
    condition = [
      for key, rule in aws_vpc_security_group_ingress_rule.this : key if rule.prefix_list_id != null
    ] == ["alb_https_cloudfront"]
    error_message = "only the load balancer's 443 admits CloudFront's prefix list"
  }
}

run "open_to_the_internet" {
  variables {
    alb_ingress = "internet"
  }

  assert {
    condition     = output.world_ingress == tolist(["alb:443-443", "alb:80-80"])
    error_message = "only the load balancer's 443 and 80 are open to the world"
  }
  assert {
    condition = alltrue([
      for rule in aws_vpc_security_group_ingress_rule.this :
      rule.cidr_ipv4 != "0.0.0.0/0" || rule.security_group_id == aws_security_group.this["alb"].id
    ])
    error_message = "a world-open rule sits on a group other than the load balancer's"
  }
  assert {
    condition = alltrue([
      for key, rule in aws_vpc_security_group_ingress_rule.this :
      rule.referenced_security_group_id != null || rule.cidr_ipv4 == "0.0.0.0/0" || rule.cidr_ipv4 == var.cidr_block
    ])
    error_message = "every other rule admits a security group or the VPC only"
  }
  assert {
    condition     = output.nat_gateway_count == 3 && length(output.private_subnet_ids) == 3
    error_message = "one NAT gateway and one private subnet per zone"
  }
  assert {
    condition     = length(output.interface_endpoint_services) == 7
    error_message = "interface endpoints for SQS, Secrets Manager, ECR (2), Logs, SageMaker and Bedrock runtimes"
  }
}
