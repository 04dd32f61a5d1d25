package dev.fabric.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fabric.FabricException;
import dev.fabric.gguf.GgufFile;
import dev.fabric.io.TextInput;
import dev.fabric.template.ChatMessage;
import dev.fabric.template.ChatTemplate;
import dev.fabric.template.MaskedConversation;
import dev.fabric.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fabric tokenize}: a model's token ids for a text, as llama-tokenize prints them. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Tokenize text with a GGUF model's vocabulary (same ids as llama.cpp).",
            "By default prints one line per token: id -> 'piece'. BOS is added when the model asks for it."},
        footer = {"", "Examples:",
            "  fabric tokenize -m model.gguf 'Hello world'",
            "  fabric tokenize -m model.gguf --ids --no-bos --file notes.txt",
            "  fabric tokenize -m model.gguf --chat messages.json   # template + loss mask"})
public final class TokenizeCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL.gguf",
            description = "GGUF file whose vocabulary to use (a vocabulary-only GGUF works).")
    Path model;

    @Option(names = "--ids", description = "Print only the ids, as one JSON array on the last line.")
    boolean ids;

    @Option(names = "--pieces", description = "Print only the token pieces, as one JSON array of strings.")
    boolean pieces;

    @Option(names = "--no-parse-special",
            description = "Treat control-token text (e.g. <|im_start|>) in the input as plain text.")
    boolean noParseSpecial;

    @Option(names = "--no-bos", description = "Do not add the BOS token even if the model asks for it.")
    boolean noBos;

    @Option(names = "--chat-template", paramLabel = "NAME",
            description = "With --chat: use a built-in template (chatml, qwen3, llama3) instead of the model's own.")
    String chatTemplate;

    @ArgGroup(exclusive = true)
    Input input;

    @Mixin
    InputLimit limit;

    static final class Input {
        @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "Read the text from FILE (UTF-8).")
        Path file;

        @Option(names = "--chat", paramLabel = "MESSAGES.json",
                description = "Render a conversation (JSON array of {role, content}) with the model's chat "
                        + "template and show the loss mask (+ = trained on, i.e. assistant replies). "
                        + "With --ids: the mask (1/0) as a JSON array, then the ids on the last line.")
        Path chat;

        @Parameters(index = "0", arity = "0..1", paramLabel = "TEXT", description = "The text to tokenize.")
        String text;
    }

    @Override
    public Integer call() throws IOException {
        if (input == null) throw new FabricException("nothing to tokenize: give TEXT, --file FILE or --chat FILE",
                FabricException.EXIT_USAGE, null);
        try (GgufFile f = GgufFile.open(model)) {
            Tokenizer tok = Tokenizer.fromGguf(f.metadata());
            if (input.chat != null) return printChat(f, tok);
            String text = input.text;
            if (input.file != null) text = TextInput.read(input.file, limit.bytes(), Engine.MAX_INPUT_OPTION);
            boolean addBos = !noBos && tok.addBosDefault();
            int[] out = tok.encode(text, addBos, !noParseSpecial);
            print(tok, out, System.out);
        }
        return 0;
    }

    /** The rendered conversation with trained spans in [[ ]], then one line per token with its mask bit. */
    private int printChat(GgufFile f, Tokenizer tok) throws IOException {
        List<ChatMessage> messages = ChatMessage.fromJson(input.chat, limit.bytes());
        ChatTemplate template = ChatTemplate.choose(chatTemplate, f.metadata());
        MaskedConversation mc = MaskedConversation.of(template, tok, messages, Map.of());
        PrintStream ps = System.out;
        if (ids) {
            StringBuilder m = new StringBuilder("[");
            for (int i = 0; i < mc.mask().length; i++) m.append(i == 0 ? "" : ", ").append(mc.mask()[i] ? 1 : 0);
            ps.println(m.append(']'));
            print(tok, mc.ids(), ps);
            return 0;
        }
        ps.println("rendered with template '" + template.name() + "'; trained spans in [[ ]]:");
        ps.println(mc.formatText(false));
        ps.println();
        ps.printf("%6s %8s %s %s%n", "index", "id", "m", "piece  (m: + = in the loss, . = not)");
        ps.print(mc.formatTokens());
        ps.printf("%d tokens, %d in the loss%n", mc.ids().length, mc.maskedCount());
        return 0;
    }

    private void print(Tokenizer tok, int[] out, PrintStream ps) throws IOException {
        if (ids) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < out.length; i++) sb.append(i == 0 ? "" : ", ").append(out[i]);
            ps.println(sb.append(']'));
        } else if (pieces) {
            List<String> p = new ArrayList<>();
            for (int id : out) p.add(tok.piece(id));
            ps.println(new ObjectMapper().writeValueAsString(p));
        } else {
            for (int id : out) ps.printf("%6d -> '%s'%n", id, tok.piece(id));
        }
    }
}
