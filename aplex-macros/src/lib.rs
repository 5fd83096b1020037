//! `#[aplex::work]`: registers a function so that process workers can run it by name.
//!
//! The function is left exactly as written (callers can still call it, and the thread
//! pool can run it). Next to it the attribute adds, in a `const _` block, a link-time
//! registry entry holding
//!
//! - the work's name: `std::any::type_name` of the function item, the same expression the
//!   pool evaluates at submit time, so parent and child always agree;
//! - a trampoline that decodes the arguments, runs the work and encodes its output; for
//!   an `async fn`, one whose future is `Send` when the work's is (so a multi-thread
//!   worker runtime can run it on any of its threads), found by method resolution on the
//!   concrete function type (`Probe`, `RunSend`, `RunLocal`).
//!
//! A work takes exactly one argument (several travel as a tuple) and may not be generic
//! or a method: the worker must know the concrete types.
//!
//! `#[aplex::worker_state]` registers the maker of each process worker's state the same
//! way.
//!
//! Use them through the `aplex` crate with its `process` feature: `#[aplex::work]`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::spanned::Spanned;
use syn::{parse_macro_input, FnArg, ItemFn};

/// Registers an `async fn` or a plain `fn` as a work that process workers can run.
///
/// The function must take exactly one argument (use a tuple for several) whose type
/// implements `serde::Deserialize`, and return a type implementing `serde::Serialize`.
///
/// # Examples
///
/// A proc-macro crate cannot run its own macro in a doctest; this example is compiled
/// and run in the `aplex` crate's documentation of `work`.
///
/// ```ignore
/// #[aplex::work]
/// async fn double(x: u64) -> u64 { x * 2 }
///
/// let pool = aplex::ProcessAsyncPoolExecutor::builder().build()?;
/// assert_eq!(pool.submit(double, 21).result()?, 42);
/// ```
#[proc_macro_attribute]
pub fn work(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    if !attr.is_empty() {
        let error = syn::Error::new(Span::call_site(), "#[aplex::work] takes no arguments");
        return with_error(&function, error);
    }
    match registration(&function) {
        Ok(registration) => quote! { #function #registration }.into(),
        Err(error) => with_error(&function, error),
    }
}

/// Registers a plain `fn(usize) -> Result<State, String>` as the maker of each process
/// worker's state, for the process pool builder's `worker_state`.
///
/// # Examples
///
/// Compiled and run in the `aplex` crate's documentation of
/// `ProcessPoolBuilder::worker_state`.
///
/// ```ignore
/// struct Cache { worker: usize }
///
/// #[aplex::worker_state]
/// fn open_cache(worker: usize) -> Result<Cache, String> { Ok(Cache { worker }) }
///
/// let pool = aplex::ProcessAsyncPoolExecutor::builder().worker_state(open_cache).build()?;
/// ```
#[proc_macro_attribute]
pub fn worker_state(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    if !attr.is_empty() {
        let error = syn::Error::new(
            Span::call_site(),
            "#[aplex::worker_state] takes no arguments",
        );
        return with_error(&function, error);
    }
    match state_registration(&function) {
        Ok(registration) => quote! { #function #registration }.into(),
        Err(error) => with_error(&function, error),
    }
}

fn state_registration(function: &ItemFn) -> syn::Result<TokenStream2> {
    let signature = &function.sig;
    if signature.asyncness.is_some() {
        return Err(syn::Error::new(
            signature.asyncness.span(),
            "a worker-state maker is a plain `fn`: it runs once as each worker starts \
             (block on any async setup inside it)",
        ));
    }
    if signature.inputs.len() != 1 || !signature.generics.params.is_empty() {
        return Err(syn::Error::new(
            signature.ident.span(),
            "a worker-state maker is `fn(worker: usize) -> Result<State, String>`",
        ));
    }
    let name = &signature.ident;
    Ok(quote! {
        const _: () = {
            fn __aplex_name() -> &'static str {
                ::aplex::__private::type_name_of(&#name)
            }
            fn __aplex_make(
                worker: usize,
            ) -> ::core::result::Result<::aplex::backend::WorkerStateValue, ::std::string::String> {
                ::aplex::__private::make_state(#name, worker)
            }
            #[::aplex::__private::linkme::distributed_slice(::aplex::__private::WORKS)]
            #[linkme(crate = ::aplex::__private::linkme)]
            static __APLEX_STATE: ::aplex::__private::WorkEntry =
                ::aplex::__private::WorkEntry::state(__aplex_name, __aplex_make);
        };
    })
}

/// Keeps the function (so the only error shown is ours) and adds the error.
fn with_error(function: &ItemFn, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote! { #function #error }.into()
}

/// A work's argument crosses into a worker process and its output back, so neither may
/// borrow: the error names the owned type to use, at the type.
fn refuse_borrowed(ty: &syn::Type, what: &str) -> syn::Result<()> {
    if borrows(quote! { #ty }) {
        return Err(syn::Error::new(
            ty.span(),
            format!(
                "an aplex work's {what} crosses between processes, so it must be owned, not \
                 borrowed: use `String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T` \
                 (and no lifetime but `'static`)"
            ),
        ));
    }
    Ok(())
}

/// Whether a type's tokens hold a reference (`&`) or a lifetime other than `'static`
/// (`Cow<'static, str>` is owned data).
fn borrows(tokens: TokenStream2) -> bool {
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        let borrowed = match &token {
            proc_macro2::TokenTree::Punct(punct) if punct.as_char() == '&' => true,
            proc_macro2::TokenTree::Punct(punct) if punct.as_char() == '\'' => !matches!(
                tokens.peek(),
                Some(proc_macro2::TokenTree::Ident(ident)) if ident == "static"
            ),
            proc_macro2::TokenTree::Group(group) => borrows(group.stream()),
            _ => false,
        };
        if borrowed {
            return true;
        }
    }
    false
}

fn registration(function: &ItemFn) -> syn::Result<TokenStream2> {
    let signature = &function.sig;
    if let Some(FnArg::Receiver(receiver)) = signature.inputs.first() {
        return Err(syn::Error::new(
            receiver.span(),
            "an aplex work cannot be a method; make it a free function",
        ));
    }
    if signature.inputs.len() != 1 {
        return Err(syn::Error::new(
            signature
                .inputs
                .span()
                .join(signature.ident.span())
                .unwrap_or(signature.ident.span()),
            "an aplex work takes exactly one argument; pass several as a tuple, \
             e.g. `fn add((a, b): (u64, u64)) -> u64`",
        ));
    }
    if !signature.generics.params.is_empty() {
        return Err(syn::Error::new(
            signature.generics.span(),
            "an aplex work cannot be generic: a worker process must know its concrete types",
        ));
    }
    let Some(FnArg::Typed(argument)) = signature.inputs.first() else {
        unreachable!("one argument, not a receiver: checked above");
    };
    refuse_borrowed(&argument.ty, "argument")?;
    let argument_type = &argument.ty;
    if let syn::ReturnType::Type(_, output) = &signature.output {
        refuse_borrowed(output, "output")?;
    }
    let name = &signature.ident;
    let (run_inputs, run_type, run_body, entry) = if signature.asyncness.is_some() {
        (
            quote! { args: ::aplex::__private::Args, answer: ::aplex::__private::Answer },
            quote! { ::aplex::__private::AsyncOutcome },
            // The function's concrete type is known here: `RunSend` applies when its
            // future is `Send`, else method resolution falls back to `RunLocal`.
            quote! {
                {
                    use ::aplex::__private::{RunLocal as _, RunSend as _};
                    (&::aplex::__private::Probe::<_, #argument_type>::new(#name))
                        .run(__aplex_name(), args, answer)
                }
            },
            quote! { ::aplex::__private::WorkEntry::asynchronous(__aplex_name, __aplex_run) },
        )
    } else {
        (
            quote! { args: ::aplex::__private::Args },
            quote! { ::aplex::__private::BlockingOutcome },
            quote! { ::aplex::__private::run_blocking(__aplex_name(), args, #name) },
            quote! { ::aplex::__private::WorkEntry::blocking(__aplex_name, __aplex_run) },
        )
    };
    Ok(quote! {
        const _: () = {
            fn __aplex_name() -> &'static str {
                ::aplex::__private::type_name_of(&#name)
            }
            fn __aplex_run(#run_inputs) -> #run_type {
                #run_body
            }
            #[::aplex::__private::linkme::distributed_slice(::aplex::__private::WORKS)]
            #[linkme(crate = ::aplex::__private::linkme)]
            static __APLEX_WORK: ::aplex::__private::WorkEntry = #entry;
        };
    })
}
