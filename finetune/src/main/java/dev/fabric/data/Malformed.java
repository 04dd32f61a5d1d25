package dev.fabric.data;

/** A row that could not be read, skipped: where ({@code file:line} or {@code file:row N}) and why. */
public record Malformed(String where, String message) {
    @Override
    public String toString() {
        return where + ": " + message;
    }
}
