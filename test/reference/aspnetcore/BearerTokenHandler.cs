using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Hubwire.Reference;

/// <summary>
/// Bearer authentication with the fixture's tokens, as RequestToken reads them (the Authorization
/// header, or the access_token query parameter).
/// A request without a valid token stays anonymous; [Authorize] then answers 401 with no body.
/// </summary>
public sealed class BearerTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = RequestToken.Of(Request);
        if (token is null) return Task.FromResult(AuthenticateResult.NoResult());
        var subject = Jwt.Verify(token);
        if (subject is null) return Task.FromResult(AuthenticateResult.Fail("invalid token"));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, subject), new Claim(ClaimTypes.Name, subject)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}

/// <summary>
/// The user is the token's subject; on /interophub, without a token, the `user` query parameter
/// (as the hubwire fixture's userIdProvider does).
/// </summary>
public sealed class FixtureUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection)
    {
        var subject = connection.User?.FindFirst(ClaimTypes.NameIdentifier)?.Value;
        if (subject is not null) return subject;
        var request = connection.GetHttpContext()?.Request;
        if (request is null || !request.Path.StartsWithSegments("/interophub", StringComparison.OrdinalIgnoreCase)) return null;
        return request.Query.TryGetValue("user", out var user) ? user.ToString() : null;
    }
}
