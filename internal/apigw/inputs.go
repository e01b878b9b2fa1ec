package apigw

// Inputs of the Create* and Update* operations. Every member is optional on
// the wire (pointers and nil maps mean "absent"); Create* methods enforce the
// required ones. The same type serves Create and Update where AWS's shapes
// agree; members that an operation does not accept are ignored, as AWS's
// REST-JSON services ignore unknown members.

// APIInput is the body of CreateApi and UpdateApi.
type APIInput struct {
	APIKeySelectionExpression *string           `json:"apiKeySelectionExpression"`
	CorsConfiguration         *Cors             `json:"corsConfiguration"`
	CredentialsArn            *string           `json:"credentialsArn"`
	Description               *string           `json:"description"`
	DisableSchemaValidation   *bool             `json:"disableSchemaValidation"`
	DisableExecuteAPIEndpoint *bool             `json:"disableExecuteApiEndpoint"`
	IPAddressType             *string           `json:"ipAddressType"`
	Name                      *string           `json:"name"`
	ProtocolType              *string           `json:"protocolType"`
	RouteKey                  *string           `json:"routeKey"`
	RouteSelectionExpression  *string           `json:"routeSelectionExpression"`
	Tags                      map[string]string `json:"tags"`
	Target                    *string           `json:"target"`
	Version                   *string           `json:"version"`
}

// RouteInput is the body of CreateRoute and UpdateRoute.
type RouteInput struct {
	APIKeyRequired                   *bool                           `json:"apiKeyRequired"`
	AuthorizationScopes              []string                        `json:"authorizationScopes"`
	AuthorizationType                *string                         `json:"authorizationType"`
	AuthorizerID                     *string                         `json:"authorizerId"`
	ModelSelectionExpression         *string                         `json:"modelSelectionExpression"`
	OperationName                    *string                         `json:"operationName"`
	RequestModels                    map[string]string               `json:"requestModels"`
	RequestParameters                map[string]ParameterConstraints `json:"requestParameters"`
	RouteKey                         *string                         `json:"routeKey"`
	RouteResponseSelectionExpression *string                         `json:"routeResponseSelectionExpression"`
	Target                           *string                         `json:"target"`
}

// RouteResponseInput is the body of CreateRouteResponse and UpdateRouteResponse.
type RouteResponseInput struct {
	ModelSelectionExpression *string                         `json:"modelSelectionExpression"`
	ResponseModels           map[string]string               `json:"responseModels"`
	ResponseParameters       map[string]ParameterConstraints `json:"responseParameters"`
	RouteResponseKey         *string                         `json:"routeResponseKey"`
}

// IntegrationInput is the body of CreateIntegration and UpdateIntegration.
// RequestParameters values are pointers so that an update can send "" (or
// null) to delete a key, as Terraform does.
type IntegrationInput struct {
	ConnectionID                *string                      `json:"connectionId"`
	ConnectionType              *string                      `json:"connectionType"`
	ContentHandlingStrategy     *string                      `json:"contentHandlingStrategy"`
	CredentialsArn              *string                      `json:"credentialsArn"`
	Description                 *string                      `json:"description"`
	IntegrationMethod           *string                      `json:"integrationMethod"`
	IntegrationSubtype          *string                      `json:"integrationSubtype"`
	IntegrationType             *string                      `json:"integrationType"`
	IntegrationURI              *string                      `json:"integrationUri"`
	PassthroughBehavior         *string                      `json:"passthroughBehavior"`
	PayloadFormatVersion        *string                      `json:"payloadFormatVersion"`
	RequestParameters           map[string]*string           `json:"requestParameters"`
	RequestTemplates            map[string]string            `json:"requestTemplates"`
	ResponseParameters          map[string]map[string]string `json:"responseParameters"`
	TemplateSelectionExpression *string                      `json:"templateSelectionExpression"`
	TimeoutInMillis             *int                         `json:"timeoutInMillis"`
	TLSConfig                   *TLSConfig                   `json:"tlsConfig"`
}

// IntegrationResponseInput is the body of CreateIntegrationResponse and
// UpdateIntegrationResponse.
type IntegrationResponseInput struct {
	ContentHandlingStrategy     *string            `json:"contentHandlingStrategy"`
	IntegrationResponseKey      *string            `json:"integrationResponseKey"`
	ResponseParameters          map[string]*string `json:"responseParameters"`
	ResponseTemplates           map[string]string  `json:"responseTemplates"`
	TemplateSelectionExpression *string            `json:"templateSelectionExpression"`
}

// AuthorizerInput is the body of CreateAuthorizer and UpdateAuthorizer.
type AuthorizerInput struct {
	AuthorizerCredentialsArn       *string           `json:"authorizerCredentialsArn"`
	AuthorizerPayloadFormatVersion *string           `json:"authorizerPayloadFormatVersion"`
	AuthorizerResultTTLInSeconds   *int              `json:"authorizerResultTtlInSeconds"`
	AuthorizerType                 *string           `json:"authorizerType"`
	AuthorizerURI                  *string           `json:"authorizerUri"`
	EnableSimpleResponses          *bool             `json:"enableSimpleResponses"`
	IdentitySource                 []string          `json:"identitySource"`
	IdentityValidationExpression   *string           `json:"identityValidationExpression"`
	JWTConfiguration               *JWTConfiguration `json:"jwtConfiguration"`
	Name                           *string           `json:"name"`
}

// ModelInput is the body of CreateModel and UpdateModel.
type ModelInput struct {
	ContentType *string `json:"contentType"`
	Description *string `json:"description"`
	Name        *string `json:"name"`
	Schema      *string `json:"schema"`
}

// DeploymentInput is the body of CreateDeployment and UpdateDeployment.
type DeploymentInput struct {
	Description *string `json:"description"`
	StageName   *string `json:"stageName"`
}

// StageInput is the body of CreateStage and UpdateStage. StageVariables
// values are pointers so that an update can send "" (or null) to delete one.
type StageInput struct {
	AccessLogSettings    *AccessLogSettings       `json:"accessLogSettings"`
	AutoDeploy           *bool                    `json:"autoDeploy"`
	ClientCertificateID  *string                  `json:"clientCertificateId"`
	DefaultRouteSettings *RouteSettings           `json:"defaultRouteSettings"`
	DeploymentID         *string                  `json:"deploymentId"`
	Description          *string                  `json:"description"`
	RouteSettings        map[string]RouteSettings `json:"routeSettings"`
	StageName            *string                  `json:"stageName"`
	StageVariables       map[string]*string       `json:"stageVariables"`
	Tags                 map[string]string        `json:"tags"`
}
