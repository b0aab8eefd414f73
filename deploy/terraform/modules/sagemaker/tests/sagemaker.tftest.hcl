# The optional SageMaker endpoint on mock providers: the app's image serving one registry model,
# encrypted, in the VPC, scaled on invocations per instance.

mock_provider "aws" {
  source          = "../../mocks"
  override_during = plan
}

variables {
  name               = "aptmagic-test-sd-turbo"
  image              = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aptmagic-test:abc123-cuda"
  model_id           = "sd-turbo"
  models_bucket_arn  = "arn:aws:s3:::aptmagic-test-models-123456789012"
  ecr_repository_arn = "arn:aws:ecr:eu-west-1:123456789012:repository/aptmagic-test"
  kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/11111111-1111-1111-1111-111111111111"
  subnet_ids         = ["subnet-1", "subnet-2"]
  security_group_id  = "sg-1"
  min_instances      = 1
  max_instances      = 3
}

run "endpoint" {
  command = plan

  assert {
    condition     = aws_sagemaker_model.this.primary_container[0].image == var.image && aws_sagemaker_model.this.primary_container[0].environment["MODEL_ID"] == "sd-turbo"
    error_message = "the endpoint runs the app's image for the named model"
  }
  assert {
    condition     = aws_sagemaker_endpoint_configuration.this.kms_key_arn == var.kms_key_arn
    error_message = "the endpoint's storage is encrypted with the customer key"
  }
  assert {
    condition     = aws_sagemaker_model.this.vpc_config[0].security_group_ids == toset(["sg-1"])
    error_message = "the endpoint runs in the VPC"
  }
  assert {
    condition = (
      aws_appautoscaling_target.this.min_capacity == 1 && aws_appautoscaling_target.this.max_capacity == 3
      && aws_appautoscaling_target.this.scalable_dimension == "sagemaker:variant:DesiredInstanceCount"
      && aws_appautoscaling_policy.invocations.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "SageMakerVariantInvocationsPerInstance"
    )
    error_message = "the endpoint scales on invocations per instance between its bounds"
  }
}
