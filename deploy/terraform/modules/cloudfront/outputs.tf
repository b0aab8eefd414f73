output "distribution_arn" {
  description = "ARN of the distribution (the outputs bucket admits it)."
  value       = aws_cloudfront_distribution.this.arn
}

output "distribution_domain_name" {
  description = "The distribution's own domain name (point the app's domain at it when Route 53 is not used)."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "web_acl_arn" {
  description = "ARN of the WAF web ACL."
  value       = aws_wafv2_web_acl.this.arn
}

output "waf_rules" {
  description = "Names of the web ACL's rules."
  value       = sort([for rule in aws_wafv2_web_acl.this.rule : rule.name])
}
