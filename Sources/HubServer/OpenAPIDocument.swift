import HubCore
import HubEngine

/// The OpenAPI 3.1 document of the HTTP API, generated from the operation table
/// (§13): served at `GET /openapi.json` and committed as `docs/openapi.json`.
public enum OpenAPIDocument {
    /// The document for `table`.
    public static func make(_ table: OperationTable, version: String) -> JSONValue {
        var paths: JSONValue = .emptyObject
        for op in table.operations {
            let workflowPath = "/v1/workflows/{workflow_id}/\(op.name)"
            paths[workflowPath] = ["post": operation(op, workflowPath: true)]
            if op.scope == .hub { paths["/v1/\(op.name)"] = ["post": operation(op, workflowPath: false)] }
        }
        paths["/v1/operations"] = [
            "post": [
                "operationId": "perform_envelope", "summary": "Run any operation given as the seed's request envelope.",
                "requestBody": [
                    "required": true,
                    "content": [
                        "application/json": [
                            "schema": [
                                "type": "object", "required": ["operation"], "additionalProperties": false,
                                "properties": [
                                    "workflow_id": ["type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"],
                                    "operation": .object(["type": "string", "enum": .strings(table.names)]),
                                    "parameters": ["type": "object"],
                                ],
                            ]
                        ]
                    ],
                ],
                "responses": responses,
            ]
        ]
        paths["/v1/workflows"] = [
            "get": [
                "operationId": "list_workflows_get", "summary": "list-workflows, with its parameters in the query.",
                "parameters": .array(
                    [
                        query(
                            "status",
                            .object(["type": "string", "enum": .strings(WorkflowStatus.allCases.map(\.rawValue))])),
                        query("limit", ["type": "integer", "minimum": 1]),
                        query("offset", ["type": "integer", "minimum": 0]),
                        query("after", ["type": "string", "maxLength": 128]),
                        query("include_archived", ["type": "boolean"]),
                    ]),
                "responses": responses,
            ]
        ]
        paths["/v1/workflows/{workflow_id}"] = [
            "get": [
                "operationId": "get_status_get", "summary": "get-status of one workflow.",
                "parameters": [workflowParameter("The workflow to read.")], "responses": responses,
            ]
        ]
        paths["/v1/events/stream"] = [
            "get": [
                "operationId": "events_stream",
                "summary":
                    "The event log as Server-Sent Events (id: sequence, event: type, data: the event), resumable with Last-Event-ID.",
                "description":
                    "Without after_sequence or Last-Event-ID the stream starts after the newest event at the time of the request: new events only. after_sequence=0 sends the whole log first.",
                "parameters": .array(
                    [
                        query("patterns", ["type": "string"]), query("event_types", ["type": "string"]),
                        query("severity", severityList), query("min_severity", severity),
                        query("workflow_id", ["type": "string"]), query("after_sequence", ["type": "integer"]),
                        [
                            "name": "Last-Event-ID", "in": "header", "required": false,
                            "schema": ["type": "string", "pattern": "^[0-9]+$"],
                        ],
                    ]),
                "responses": [
                    "200": [
                        "description": "The stream: one event per log entry; data is the event as get-events gives it.",
                        "content": ["text/event-stream": ["schema": sseEvent]],
                    ],
                    "4XX": errorResponse,
                ],
            ]
        ]
        paths["/healthz"] = [
            "get": [
                "operationId": "healthz", "summary": "Liveness.", "security": [[:]],
                "responses": [
                    "200": [
                        "description": "The server is up.",
                        "content": ["application/json": ["schema": ["type": "object"]]],
                    ]
                ],
            ]
        ]
        paths["/metrics"] = [
            "get": [
                "operationId": "metrics", "summary": "Prometheus text format: requests, delivery and store figures.",
                "responses": [
                    "200": ["description": "The metrics.", "content": ["text/plain": ["schema": ["type": "string"]]]]
                ],
            ]
        ]
        paths["/openapi.json"] = [
            "get": [
                "operationId": "openapi", "summary": "This document.", "security": [[:]],
                "responses": [
                    "200": [
                        "description": "OpenAPI 3.1.", "content": ["application/json": ["schema": ["type": "object"]]],
                    ]
                ],
            ]
        ]
        // HEAD wherever a GET is served: the GET's status and headers, no body.
        for path in [
            "/healthz", "/openapi.json", "/metrics", "/v1/workflows", "/v1/workflows/{workflow_id}",
            "/v1/events/stream",
        ] {
            guard let get = paths[path]?["get"] else { continue }
            var head: JSONValue = [
                "operationId": .string(
                    "head_"
                        + path.dropFirst().replacingOccurrences(of: ".", with: "_")
                        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "{workflow_id}", with: "id")),
                "summary": "The GET's status and headers, without a body.",
                "responses": ["default": ["description": "As the GET, without a body."]],
            ]
            for key in ["security", "parameters"] { if let value = get[key] { head[key] = value } }
            paths[path]?["head"] = head
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "coordination-hub", "version": .string(version),
                "description": "Every operation of the hub's operation table, with the §3 response envelope.",
            ],
            "servers": [["url": "http://127.0.0.1:8080"]],
            "paths": paths,
            // A server with an admin token wants a bearer token on every request but the open
            // endpoints; an open loopback server wants none (the empty alternative).
            "security": [["bearer": []], [:]],
            "components": [
                "schemas": ["Success": successSchema, "Error": errorSchema],
                "securitySchemes": [
                    "bearer": [
                        "type": "http", "scheme": "bearer",
                        "description":
                            "The admin token (serve --admin-token) or an agent token from issue-token; a server without an admin token is open on loopback.",
                    ]
                ],
            ],
        ]
    }

    static func operation(_ op: OperationDescriptor, workflowPath: Bool) -> JSONValue {
        var schema = op.schema.json
        if !workflowPath {
            // The body may name the workflow instead of the path (the call form's id, §2).
            schema["properties"]?["workflow_id"] = [
                "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$",
                "description": .string(op.workflowIDEffect),
            ]
        }
        var out: JSONValue = [
            "operationId": .string(op.name.replacingOccurrences(of: "-", with: "_") + (workflowPath ? "" : "_hub")),
            "summary": .string(op.summary),
            "requestBody": [
                // A body is needed exactly when the operation has required parameters.
                "required": .bool(op.schema.properties.contains(where: \.required)),
                "content": ["application/json": ["schema": schema]],
            ],
            "responses": responses,
        ]
        if !op.discussion.isEmpty { out["description"] = .string(op.discussion) }
        if workflowPath { out["parameters"] = [workflowParameter(op.workflowIDEffect)] }
        return out
    }

    /// One Server-Sent Event of the stream (OpenAPI 3.1: the schema describes each event).
    static let sseEvent: JSONValue = [
        "type": "object", "required": ["id", "event", "data"],
        "properties": [
            "id": ["type": "string", "pattern": "^[0-9]+$"], "event": ["type": "string"],
            "data": ["type": "string", "contentMediaType": "application/json"],
        ],
    ]

    static let severity: JSONValue = ["type": "string", "enum": ["info", "warning", "error", "critical"]]
    /// Severities separated by commas.
    static let severityList: JSONValue = [
        "type": "string",
        "pattern": "^(info|warning|error|critical)(,(info|warning|error|critical))*$",
    ]

    /// The path's workflow id, described as what it does for the operation.
    static func workflowParameter(_ description: String) -> JSONValue {
        [
            "name": "workflow_id", "in": "path", "required": true, "description": .string(description),
            "schema": ["type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"],
        ]
    }

    static func query(_ name: String, _ schema: JSONValue) -> JSONValue {
        ["name": .string(name), "in": "query", "required": false, "schema": schema]
    }

    static let errorResponse: JSONValue = [
        "description": "The error envelope; the status follows the error code (docs/errors.md).",
        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
    ]

    static let responses: JSONValue = [
        "200": [
            "description": "The operation's result in the §3 envelope.",
            "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Success"]]],
        ],
        "4XX": errorResponse,
        "5XX": errorResponse,
    ]

    static let successSchema: JSONValue = [
        "type": "object", "required": ["status", "operation", "timestamp", "result"],
        "properties": [
            "status": ["const": "success"], "operation": ["type": "string"],
            "workflow_id": ["type": ["string", "null"]], "timestamp": ["type": "string", "format": "date-time"],
            "result": ["type": "object"], "metrics": ["type": "object"],
            "next_steps": ["type": "array", "items": ["type": "string"]],
        ],
    ]

    static let errorSchema: JSONValue = [
        "type": "object", "required": ["status", "operation", "timestamp", "error"],
        "properties": [
            "status": ["const": "error"], "operation": ["type": "string"],
            "workflow_id": ["type": ["string", "null"]], "timestamp": ["type": "string", "format": "date-time"],
            "error": [
                "type": "object", "required": ["code", "message"],
                "properties": [
                    "code": .object(["type": "string", "enum": .strings(HubError.Code.all.map(\.name))]),
                    "message": ["type": "string"],
                ],
            ],
            "recovery_suggestions": ["type": "array", "items": ["type": "string"]],
        ],
    ]
}
