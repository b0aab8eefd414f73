variable "name" {
  description = "Name prefix, e.g. aptmagic-prod."
  type        = string
}

variable "domain_name" {
  description = "The app's domain (viewer certificate and alias)."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name in us-east-1 (CloudFront's region for certificates)."
  type        = string
}

variable "load_balancer_dns_name" {
  description = "DNS name of the API's load balancer (the default origin)."
  type        = string
}

variable "outputs_bucket_regional_domain_name" {
  description = "Regional domain name of the bucket that holds the generated outputs."
  type        = string
}

variable "outputs_path_pattern" {
  description = "Path served straight from the bucket (the app's output keys, UUID-named)."
  type        = string
  default     = "/outputs/*"
}

variable "origin_verify_header" {
  description = "Value sent to the load balancer in X-Origin-Verify, which admits only requests that carry it."
  type        = string
  sensitive   = true
}

variable "logs_bucket_domain_name" {
  description = "Domain name of the logs bucket (standard logs under cloudfront/)."
  type        = string
}

variable "price_class" {
  description = "CloudFront price class (PriceClass_100: North America and Europe)."
  type        = string
  default     = "PriceClass_100"
}

variable "rate_limit_per_5_minutes" {
  description = "Requests one client address may send in 5 minutes before the WAF blocks it."
  type        = number
  default     = 2000
}

variable "waf_log_retention_days" {
  description = "Days WAF logs are kept."
  type        = number
  default     = 365
}

variable "route53_zone_id" {
  description = "Hosted zone of domain_name; when set, alias records point the domain at the distribution."
  type        = string
  default     = null
}

variable "latency_routing" {
  description = "Optional latency-based routing for stacks in several regions: record_name is a name (in route53_zone_id) that answers with the nearest region's load balancer and becomes the API origin of the distribution; set_identifier names this region's record."
  type = object({
    record_name    = string
    set_identifier = string
  })
  default = null
}

variable "load_balancer_zone_id" {
  description = "Hosted zone id of the load balancer (for the latency-based record)."
  type        = string
  default     = null
}
