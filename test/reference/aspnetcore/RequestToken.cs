using Microsoft.AspNetCore.Http;

namespace Hubwire.Reference;

/// <summary>
/// The bearer token of a request: from the Authorization header, or the access_token query
/// parameter (which browsers must use for WebSockets and SSE). Shared with ../aspnetcore-11.
/// </summary>
public static class RequestToken
{
    public static string? Of(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
        return request.Query.TryGetValue("access_token", out var query) ? query.ToString() : null;
    }
}
