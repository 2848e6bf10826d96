using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hubwire.Reference;

/// <summary>A minimal HS256 JWT, as in the hubwire fixture: enough for /generateJwtToken and /authorizedhub.</summary>
public static class Jwt
{
    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);

    public static string Sign(string subject, TimeSpan lifetime)
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "JWT" }));
        var expires = DateTimeOffset.UtcNow.Add(lifetime).ToUnixTimeSeconds();
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { sub = subject, exp = expires }));
        return $"{header}.{payload}.{Signature($"{header}.{payload}")}";
    }

    /// <summary>The token's subject, or null when it is malformed, forged or expired.</summary>
    public static string? Verify(string? token)
    {
        var parts = token?.Split('.');
        if (parts is not { Length: 3 }) return null;
        var expected = Encoding.ASCII.GetBytes(Signature($"{parts[0]}.{parts[1]}"));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[2]))) return null;
        try
        {
            using var claims = JsonDocument.Parse(Convert.FromBase64String(FromBase64Url(parts[1])));
            var root = claims.RootElement;
            if (!root.TryGetProperty("exp", out var exp) || exp.GetInt64() <= DateTimeOffset.UtcNow.ToUnixTimeSeconds()) return null;
            return root.TryGetProperty("sub", out var sub) && sub.ValueKind == JsonValueKind.String ? sub.GetString() : null;
        }
        catch (Exception error) when (error is FormatException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string Signature(string data) => Base64Url(HMACSHA256.HashData(Secret, Encoding.ASCII.GetBytes(data)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string FromBase64Url(string text)
    {
        var base64 = text.Replace('-', '+').Replace('_', '/');
        return base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=');
    }
}
