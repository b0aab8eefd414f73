variable "name" {
  description = "Name prefix of every resource, e.g. aptmagic-prod."
  type        = string
}

variable "cidr_block" {
  description = "Address range of the VPC."
  type        = string
  default     = "10.0.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones to spread over (2 or 3); one public and one private subnet in each."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3
    error_message = "Use 2 or 3 availability zones."
  }
}

variable "nat_gateway_per_az" {
  description = "One NAT gateway per zone (survives a zone outage); false: one NAT gateway for the VPC (cheaper)."
  type        = bool
  default     = true
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints in the private subnets (the S3 gateway endpoint is always there)."
  type        = list(string)
  default     = ["sqs", "secretsmanager", "ecr.api", "ecr.dkr", "logs", "sagemaker.runtime", "bedrock-runtime"]
}

variable "app_port" {
  description = "Port the API containers listen on."
  type        = number
  default     = 8000
}

variable "kms_key_arn" {
  description = "Key that encrypts the flow log group."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Days VPC flow logs are kept."
  type        = number
  default     = 365
}

variable "alb_ingress" {
  description = "Who reaches the load balancer: cloudfront (CloudFront's origin-facing prefix list, 443 only) or internet (0.0.0.0/0 on 443 and 80)."
  type        = string
  default     = "cloudfront"

  validation {
    condition     = contains(["cloudfront", "internet"], var.alb_ingress)
    error_message = "alb_ingress is cloudfront or internet."
  }
}
